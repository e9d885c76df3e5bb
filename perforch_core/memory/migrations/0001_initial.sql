-- Memory schema v1. Migrations are applied in order, each once, inside a transaction;
-- the file is never rewritten whole.
CREATE TABLE models (
    name          TEXT PRIMARY KEY,          -- the model name PerfOrch routes by (litellm string or local/<alias>)
    display_name  TEXT NOT NULL,
    provider      TEXT NOT NULL,
    paper_name    TEXT,                      -- the paper's name, for priors
    added_at      TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1
);

-- Per-problem outcomes measured by PerfOrch (source = study | user | notes).
CREATE TABLE observations (
    id            INTEGER PRIMARY KEY,
    model         TEXT NOT NULL,
    stage         TEXT NOT NULL,             -- generate | fix | refine
    language      TEXT NOT NULL,
    categories    TEXT NOT NULL DEFAULT '',  -- comma-separated category tags
    metric        TEXT,                      -- refine only
    problem_id    TEXT NOT NULL,
    success       INTEGER NOT NULL,
    improvement   REAL,                      -- refine: improvement % when success
    source        TEXT NOT NULL,
    timestamp     TEXT NOT NULL
);
CREATE INDEX observations_lookup ON observations (stage, language, metric);

-- Aggregates published by the paper (it gives no per-problem outcomes): pass/fix rates and
-- refinement counts per model, language and optionally category, as trials and successes.
CREATE TABLE priors (
    model         TEXT NOT NULL,             -- the paper's model name
    stage         TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL DEFAULT '',  -- '' = all problems of the language
    metric        TEXT NOT NULL DEFAULT '',  -- '' for generate / fix
    trials        REAL NOT NULL,
    successes     REAL NOT NULL,
    median_improvement REAL,                 -- refine: median % of the successful refinements
    source        TEXT NOT NULL DEFAULT 'paper',
    PRIMARY KEY (model, stage, language, category, metric)
);

CREATE TABLE meta (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
