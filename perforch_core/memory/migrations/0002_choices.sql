-- Models people picked by hand for a stage (the editor's "choose model" question): what was
-- offered first by the ranking, what was picked instead. Read by `perforch models`.
CREATE TABLE choices (
    id            INTEGER PRIMARY KEY,
    stage         TEXT NOT NULL,
    language      TEXT NOT NULL,
    categories    TEXT NOT NULL DEFAULT '',
    metric        TEXT,
    offered_first TEXT,                      -- the ranking's top model when the question was asked
    picked        TEXT NOT NULL,
    problem_id    TEXT NOT NULL,
    timestamp     TEXT NOT NULL
);
