-- Generated workloads (an input generator, checked and scaled on the original), one per
-- function version, so that refining the same function again does not ask a model again.
CREATE TABLE workloads (
    key           TEXT PRIMARY KEY,          -- sha256 of language, entry point and the code
    workload      TEXT NOT NULL,             -- perforch_core.models.Workload as JSON
    created       TEXT NOT NULL DEFAULT (datetime('now'))
);
