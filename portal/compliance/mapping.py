"""What each section of the pack answers: the points of the EU AI Act's Annex IV (technical documentation of a
high-risk AI system, Regulation (EU) 2024/1689, Article 11(1)) numbered as the regulation numbers them, and the
elements of the US banking agencies' model risk guidance SR 11-7 (Federal Reserve / OCC, 2011). Each row says
plainly what the pack holds for it and what Gatehouse cannot evidence, and who must supply that.

Data, not code: the page and the PDF render these rows as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTIONS = {
    1: "Identification",
    2: "Model card, intended use and limits",
    3: "Data",
    4: "Validation results",
    5: "Benchmark results",
    6: "Monitoring since production",
    7: "Findings and their resolution",
    8: "Approval chain",
    9: "Audit extract",
    10: "What the pack answers",
}

ANNEX_IV = "EU AI Act, Annex IV"
SR_11_7 = "SR 11-7"
EVIDENCED, IN_PART, NOT_EVIDENCED = "evidenced", "in part", "not evidenced"


@dataclass(frozen=True)
class Requirement:
    framework: str
    point: str
    requirement: str  # what it asks, in short
    sections: tuple[int, ...]
    coverage: str  # evidenced | in part | not evidenced
    evidence: str  # what the pack holds for it
    missing: str  # what Gatehouse cannot evidence, and who supplies it ("" when nothing)


@dataclass(frozen=True)
class Gap:
    item: str
    supplied_by: str


REQUIREMENTS = (
    Requirement(
        ANNEX_IV,
        "1",
        "General description: intended purpose, provider, version and its relation to previous versions, "
        "software versions, the hardware it is intended to run on, forms placed on the market, instructions for use.",
        (1, 2, 5),
        IN_PART,
        "Model, team and owner; intended use (card); version number, parent version and digest; format, opsets "
        "and producer; the devices and runtimes it was benchmarked on.",
        "Interaction with other hardware and software (1(b)), forms placed on the market (1(d)), product "
        "illustrations (1(f)), the deployer's user interface and instructions for use (1(g), 1(h)): the provider's "
        "product owner.",
    ),
    Requirement(
        ANNEX_IV,
        "2",
        "Detailed description of the elements of the system and of its development process, points (a) to (h).",
        (1, 2, 3, 4),
        IN_PART,
        "Lineage (source repository and commit, training run, training-data reference, training time, parent); "
        "the file manifest with SHA-256 digests and the verified model signature; the card's training and "
        "evaluation data; the validation datasets' schema, size and digest.",
        "Development methods and third-party components (2(a)), design specifications and the rationale of key "
        "choices (2(b)), system architecture and the computational resources used (2(c)), pre-determined "
        "changes (2(f)): the model's development team.",
    ),
    Requirement(
        ANNEX_IV,
        "2(d)",
        "Data requirements: datasheets of the training methods and data sets, their provenance, scope, "
        "labelling and cleaning.",
        (2, 3),
        IN_PART,
        "The card's training and evaluation data; each validation dataset's format, rows, columns and their types, "
        "label column and SHA-256; the training-data reference of the version.",
        "Provenance, labelling and cleaning of the training data, which Gatehouse never receives: the model's team.",
    ),
    Requirement(
        ANNEX_IV,
        "2(e)",
        "Assessment of the human oversight measures needed (Article 14), including technical measures that help "
        "deployers interpret the outputs.",
        (),
        NOT_EVIDENCED,
        "Nothing: the approvals in section 8 oversee the release of the artifact, not the system's use.",
        "The provider's product owner with the model's team; the deployer implements the measures (Article 26).",
    ),
    Requirement(
        ANNEX_IV,
        "2(g)",
        "Validation and testing procedures, the validation and testing data and their main characteristics, "
        "metrics of accuracy and robustness, dated test logs and reports.",
        (3, 4, 5),
        IN_PART,
        "Every validation and benchmark run on this exact digest: each check with its verdict and message, the "
        "metrics against the floors, the dataset's digest and size, who ran it and when; the benchmark's device, "
        "runtime and environment.",
        "Robustness beyond these checks, potentially discriminatory impacts (metrics by group of persons), and test "
        "reports signed by the responsible persons: the model's team and the validation function (the jobs are "
        "dated and attributed; the release attestation in section 8 is signed).",
    ),
    Requirement(
        ANNEX_IV,
        "2(h)",
        "Cybersecurity measures put in place.",
        (1, 8),
        IN_PART,
        "The artifact's digest checked by every job and download, the OpenSSF model signature verified on upload, "
        "the signed release attestation.",
        "Threat model, access control and hardening of training and serving: the provider's security function.",
    ),
    Requirement(
        ANNEX_IV,
        "3",
        "Monitoring, functioning and control: capabilities and limitations in performance, including accuracy for "
        "specific persons or groups; foreseeable unintended outcomes and risks; human oversight measures; "
        "input data specifications.",
        (1, 2, 4, 6),
        IN_PART,
        "Limitations, caveats, ethical considerations and out-of-scope use (card); validation metrics against "
        "the floors; the input and output signature; what production reported since the release.",
        "Accuracy for specific persons or groups (Gatehouse measures whole datasets) and the human oversight "
        "measures: the model's team and the provider's product owner.",
    ),
    Requirement(
        ANNEX_IV,
        "4",
        "A description of the appropriateness of the performance metrics for the specific AI system.",
        (2, 4, 5),
        IN_PART,
        "The metrics the team chose and describes (card), the floors and the non-inferiority margin every "
        "validation is judged by, the latency and throughput SLO.",
        "Why these metrics fit the intended purpose is the team's text in the card; its review is the risk "
        "reviewer's approval (section 8).",
    ),
    Requirement(
        ANNEX_IV,
        "5",
        "A detailed description of the risk management system in accordance with Article 9.",
        (7, 8),
        IN_PART,
        "The findings reviewers raised on this version and how each was resolved or its risk accepted; the risk "
        "tier and the policy each release was approved under.",
        "The Article 9 system itself (identifying, estimating and evaluating risks over the lifecycle, residual "
        "risk acceptance, testing against thresholds set for the intended purpose): the provider's risk "
        "management function.",
    ),
    Requirement(
        ANNEX_IV,
        "6",
        "A description of relevant changes made by the provider to the system through its lifecycle.",
        (1, 8, 9),
        IN_PART,
        "The parent version, every stage change with who and why, every request and decision, and the hash-chained "
        "audit events of the version, its model (card edits), jobs and findings.",
        "Changes made outside Gatehouse (serving configuration, pre- and post-processing, the wider system): the "
        "provider's change management.",
    ),
    Requirement(
        ANNEX_IV,
        "7",
        "The harmonised standards applied, or the solutions adopted to meet Chapter III, Section 2, with the other "
        "standards and technical specifications applied.",
        (),
        NOT_EVIDENCED,
        "Nothing.",
        "The provider's compliance function.",
    ),
    Requirement(
        ANNEX_IV,
        "8",
        "A copy of the EU declaration of conformity (Article 47).",
        (),
        NOT_EVIDENCED,
        "Nothing: the release attestation (section 8) is a signed statement about the artifact, not a "
        "declaration of conformity.",
        "The provider, who draws it up and signs it (Article 47).",
    ),
    Requirement(
        ANNEX_IV,
        "9",
        "The system that evaluates the AI system's performance in the post-market phase (Article 72), including "
        "the post-market monitoring plan (Article 72(3)).",
        (6,),
        IN_PART,
        "What the serving system reported about this version in production: metrics on labelled traffic against "
        "the floors, feature drift (PSI) against the validation's reference histograms, each window's verdict.",
        "The post-market monitoring plan (what is collected from deployers, how often, who reviews it, "
        "serious-incident reporting under Article 73): the provider's operations and risk functions.",
    ),
    Requirement(
        SR_11_7,
        "Conceptual soundness",
        "The quality of the model's design and construction, and the developmental evidence for it.",
        (1, 2, 3, 4),
        IN_PART,
        "The card (intended use, data, metrics, limitations), the lineage, the datasets and the validations on them.",
        "Review of the theory, design and assumptions by qualified, independent validators: the model validation "
        "function.",
    ),
    Requirement(
        SR_11_7,
        "Ongoing monitoring",
        "Process verification and benchmarking: the model still performs as intended as conditions change.",
        (5, 6),
        IN_PART,
        "Benchmarks against the SLO on named devices; production observations with drift and floors; validations "
        "repeated on the same digest.",
        "Benchmarking against alternative models: the model's team (Gatehouse compares with the production version).",
    ),
    Requirement(
        SR_11_7,
        "Outcomes analysis",
        "Comparison of the model's outputs with actual outcomes, back-testing included.",
        (4, 6),
        IN_PART,
        "Metrics on holdout data, non-inferiority against the version in production, and production metrics on "
        "labelled traffic.",
        "Back-testing designed for the model's horizon and use: the model validation function.",
    ),
    Requirement(
        SR_11_7,
        "Effective challenge",
        "Critical analysis by objective, informed parties who can identify limitations and have them addressed.",
        (7, 8),
        IN_PART,
        "Findings raised by IT operations and risk reviewers and their resolution; approvals by role, one decision "
        "per person, never by the requester.",
        "The independence, competence and influence of the challengers: the organisation's model risk governance.",
    ),
    Requirement(
        SR_11_7,
        "Governance, policies and controls",
        "Policies, roles, an inventory and controls over model risk, overseen by the board and senior management.",
        (8, 9),
        IN_PART,
        "The policy snapshot each request was decided under (evidence and approvals per risk tier), the signed "
        "attestations, the hash-chained audit trail with its signed checkpoints.",
        "Board and senior-management oversight, the model risk policy and the internal audit of the framework: the "
        "model risk management function and internal audit.",
    ),
)

GAPS = (
    Gap("Annex IV 7: the harmonised standards applied", "the provider's compliance function"),
    Gap("Annex IV 8: the EU declaration of conformity (Article 47)", "the provider, who signs it"),
    Gap(
        "Annex IV 2(e) and 3: the human oversight measures (Article 14)",
        "the provider's product owner with the model's team; the deployer implements them",
    ),
    Gap(
        "Annex IV 5: the risk management system of Article 9, beyond the findings tracked here",
        "the provider's risk management function",
    ),
    Gap("Annex IV 9: the post-market monitoring plan (Article 72(3))", "the provider's operations and risk functions"),
    Gap(
        "Annex IV 1(b), 1(d), 1(f)–(h): interactions, forms placed on the market, instructions for use",
        "the provider's product owner",
    ),
    Gap(
        "Annex IV 2(a)–(c), 2(f): development methods, design, architecture and computational resources, "
        "pre-determined changes",
        "the model's development team",
    ),
    Gap("Annex IV 2(h): cybersecurity beyond digests and signatures", "the provider's security function"),
    Gap(
        "Annex IV 2(g) and 3: accuracy for specific persons or groups, discriminatory impacts",
        "the model's team and the validation function",
    ),
    Gap(
        "SR 11-7: independent review of conceptual soundness; board oversight and internal audit",
        "the model validation function and internal audit",
    ),
)
