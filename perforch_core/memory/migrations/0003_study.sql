-- Problem categories as a tagger found them (keywords, or an LLM vote), so that a study or an
-- evaluation tags each problem once.
CREATE TABLE categories_cache (
    problem_id    TEXT NOT NULL,
    tagger        TEXT NOT NULL,             -- "keywords" or "llm:<models>"
    categories    TEXT NOT NULL,             -- comma-separated
    PRIMARY KEY (problem_id, tagger)
);
CREATE INDEX observations_by_source ON observations (source, problem_id);
