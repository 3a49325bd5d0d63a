-- Notes, keyed by a UUID v7 string: ids sort in creation order, so pages follow
-- the id. Collation "C" compares bytes, whatever the database's locale.
CREATE TABLE notes (
    id          TEXT COLLATE "C" PRIMARY KEY,
    title       TEXT        NOT NULL,
    body        TEXT        NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);
