"""Registry pages, one module per entity; thin: parse, call a selector or service, render."""
