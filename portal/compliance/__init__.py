"""The compliance evidence pack of a model version (site layer): one document, as a page, a PDF and JSON, of
what Gatehouse holds about the version, mapped to the EU AI Act's Annex IV and SR 11-7 (docs in pack.py)."""
