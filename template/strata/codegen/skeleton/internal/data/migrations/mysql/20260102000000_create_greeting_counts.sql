-- How many times each name was greeted; written in the same transaction as the
-- greeting itself.
CREATE TABLE greeting_counts (
    name    VARCHAR(255) NOT NULL PRIMARY KEY,
    greeted BIGINT       NOT NULL
);
