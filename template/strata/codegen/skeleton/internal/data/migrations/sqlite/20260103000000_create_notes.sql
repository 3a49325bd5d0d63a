-- Notes, keyed by a UUID v7 string: ids sort in creation order, so pages follow
-- the id.
CREATE TABLE notes (
    id          TEXT NOT NULL PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
