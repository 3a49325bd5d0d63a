-- Every greeting the service said.
CREATE TABLE greetings (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    message    TEXT         NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    INDEX greetings_name (name)
);
