-- Every greeting the service said.
CREATE TABLE greetings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE INDEX greetings_name ON greetings (name);
