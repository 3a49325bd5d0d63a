-- Notes, keyed by a UUID v7 string: ids sort in creation order, so pages follow
-- the id. ascii_bin compares ids byte by byte; utf8mb4 keeps any text (emoji too)
-- even where the server's default character set is older.
CREATE TABLE notes (
    id          VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    title       TEXT        NOT NULL,
    body        TEXT        NOT NULL,
    create_time DATETIME(6) NOT NULL,
    update_time DATETIME(6) NOT NULL
) DEFAULT CHARACTER SET utf8mb4;
