from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "account" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "api_key" (
    "id" VARCHAR(16) NOT NULL PRIMARY KEY,
    "secret_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "revoked_at" TIMESTAMP,
    "account_id" CHAR(36) NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
) /* An API key; only a SHA-256 of its secret part is stored, with a short public id. */;
CREATE TABLE IF NOT EXISTS "smtp_config" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL,
    "host" VARCHAR(255) NOT NULL,
    "port" INT NOT NULL,
    "username" VARCHAR(320),
    "password_sealed" TEXT /* `v1:<key id>:<base64>` sealed with the row id as associated data; never the clear password. */,
    "use_tls" INT NOT NULL,
    "from_email" VARCHAR(320) NOT NULL,
    "is_default" INT NOT NULL,
    "daily_limit" INT NOT NULL,
    "max_per_minute" INT,
    "priority" INT NOT NULL,
    "max_connections" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_smtp_config_account_00cb4e" UNIQUE ("account_id", "name")
) /* One provider of one account. At most one default per account: a partial unique index */;
CREATE TABLE IF NOT EXISTS "message" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL /* QUEUED: QUEUED\nSENDING: SENDING\nSENT: SENT\nDEFERRED: DEFERRED\nFAILED: FAILED\nUNCERTAIN: UNCERTAIN */,
    "from_email" VARCHAR(320),
    "reply_to" VARCHAR(320),
    "to" JSON NOT NULL,
    "cc" JSON NOT NULL,
    "bcc" JSON NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT,
    "html" TEXT,
    "headers" JSON NOT NULL,
    "message_id_header" VARCHAR(255) NOT NULL,
    "idempotency_key" VARCHAR(255),
    "payload_hash" VARCHAR(64) NOT NULL,
    "attempt_count" INT NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "lease_owner" VARCHAR(64),
    "lease_expires_at" TIMESTAMP,
    "in_flight_since" TIMESTAMP /* Set (committed) before an SMTP transaction starts, cleared when its outcome is recorded. */,
    "in_flight_config_id" CHAR(36) /* Config of the transaction in flight (for releasing or keeping its quota reservation). */,
    "recipient_count" INT NOT NULL,
    "deferrals" INT NOT NULL /* How many times delivery was put off (DEFERRED): indexes the retry schedule. */,
    "last_error_code" VARCHAR(64),
    "last_error_message" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "account_id" CHAR(36) NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "delivered_config_id" CHAR(36) REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    "requested_config_id" CHAR(36) REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    CONSTRAINT "uid_message_account_91603a" UNIQUE ("account_id", "idempotency_key")
);
CREATE INDEX IF NOT EXISTS "idx_message_status_d36164" ON "message" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_message_account_0f3dd5" ON "message" ("account_id", "created_at");
CREATE TABLE IF NOT EXISTS "delivery_attempt" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "number" INT NOT NULL,
    "started_at" TIMESTAMP NOT NULL,
    "ended_at" TIMESTAMP NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "smtp_code" INT,
    "enhanced_code" VARCHAR(16),
    "reply" TEXT,
    "error_code" VARCHAR(64),
    "duration_ms" REAL NOT NULL,
    "config_id" CHAR(36) REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    "message_id" CHAR(36) NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "delivery_event" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "type" VARCHAR(16) NOT NULL,
    "smtp_config_id" CHAR(36),
    "attempt" INT,
    "code" VARCHAR(64),
    "smtp_code" INT,
    "enhanced_code" VARCHAR(16),
    "detail" TEXT,
    "at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "message_id" CHAR(36) NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE
) /* Outbox: written in the transaction of the state change it describes; ids order them. */;
CREATE INDEX IF NOT EXISTS "idx_delivery_ev_account_b96efc" ON "delivery_event" ("account_id", "id");
CREATE TABLE IF NOT EXISTS "provider_health" (
    "consecutive_failures" INT NOT NULL,
    "opened_until" TIMESTAMP,
    "probe_until" TIMESTAMP,
    "exhausted_until" TIMESTAMP,
    "minute_start" TIMESTAMP,
    "minute_count" INT NOT NULL,
    "last_error_code" VARCHAR(64),
    "config_id" CHAR(36) NOT NULL PRIMARY KEY REFERENCES "smtp_config" ("id") ON DELETE CASCADE
) /* The circuit breaker and quota state of one config, shared by every worker through the DB. */;
CREATE TABLE IF NOT EXISTS "smtp_usage" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "day" DATE NOT NULL,
    "sent" INT NOT NULL,
    "config_id" CHAR(36) NOT NULL REFERENCES "smtp_config" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_smtp_usage_config__c7ebc5" UNIQUE ("config_id", "day")
) /* Recipients reserved for a config on one UTC day: no reset job, a new day is a new row. */;
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);
-- One default config per account, enforced by the database (added by hand: Tortoise's
-- schema generator does not emit partial unique indexes).
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_smtp_config_default" ON "smtp_config" ("account_id") WHERE is_default = 1;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1v2zgS/iuEPyVAWqRpmvbSXgEncbe+TeJe4twtdlOotETb3EikKlFxjF7/+5GUZL"
    "1RjmVbtqwKKBqbnJHkh0Ny+HA4+tGyqIFM92Vb16lHWOsU/GgRaCH+IV11AFrQtqMKUcDg"
    "wJSyMCY0cJkDdXGtITRdxIsM5OoOthmmhJcSzzRFIdW5ICajqMgj+LuHNEZHiI2Rwyv++s"
    "qLMTHQE3LDr/aDNsTINBIPiw1xb1musakty+7uuhefpKS43UDTqelZJJK2p2xMyUzc87Dx"
    "UuiIuhEiyIEMGbGfIZ4y+MFhkf/EvIA5Hpo9qhEVGGgIPVOA0fow9IguMADyTuK/44/Bo8"
    "XENO2619duO31NaxXATqdE4I4JE0D9+OlfNwJElrbEDc4/t2/2Xp/sSwioy0aOrJRwtX5K"
    "RcigrypBj1CWfzM4n4+ho8Y5lE8hzR90GYzDggjkyMBC+EKASoC0ZcEnzURkxMb869Hh4R"
    "yM/9O+kTBzKYkz5T3C7ynXQdWRXyfwjvDVHSTw0CDLonzBaxi2kBrppGYKbyNQfRl+2EX0"
    "+Q80esScBn1rDvj97lXntt+++iJuZ7nud1Pi1+53RM2RLJ2mSvdOUu00uwj4b7f/GYiv4M"
    "/edSfda2Zy/T9b4pmgx6hG6ESDRmwYCEtD1H6KgWz4EOtkomAA9YcJdAwtUROZB7Sx9oCm"
    "btY4zgLNT7/fIBNKbLNmEA7oNv4dTXfQBH6GRh+WRqYQm7WQ68IRWhGjK/8qdQXJtZgtRI"
    "Z4tCJQt/xK5/JCdcJKdEZ6RPO6Z7bKOrLSJZBwAzKCe4s7JbufytOadcw5jpY/BCzkaLXa"
    "BLS/dAGXfw8oHzoBBLef2y+O3pwAOgSYucBFfOJgwIYOA5h/ZdRBxgGYYDbmwu6Y8nLbG5"
    "hYB9xlaaVQLeUGa3YC850TpRO4pGvyvPu3Mcfk1ckCfsmr9HQXuSWiar4X6LepNobuuAje"
    "KbUa+oQnxwtAf3KcC72oahzCX9MhjLe6gx7pw1KtntRcQ6sHj1uVRt+RRg4xmdvKAWeiFa"
    "MuklrrpDCq27TPMBaZtVQG4yzAn7gfgkeE+1sS5i5/FEh0FVmRpcF2E9iMl8uLHTiZuVEp"
    "y+II8N+NmD+pt2/P2xed1s/8VWqZLvMFMvEjcqZtxpBlK1nKtMhcJ9oIhPkwGUlXhrY8w6"
    "MuYQV8Vpw1y6B9q+uyjsQjvPjH0dHr12+PDl+fvHtz/Pbtm3eH77isfN5s1ds5I8RZ97fu"
    "dT85louCZ+hMzxogJ9sCufBHCs83wQ6MDEErHL06fnv87vXJ8Qz8Wck8zEN8YwsDxpd5S/"
    "ktSc0aeqt1clwQh3CZRo7rNU1c6SamHtNpsb2emEoNl/brYlUyHKyhADl3/knoLDUFVWw9"
    "t+4ZCJGxcOONHGDzrTejuJQNVw3dkk3YQbY5zaLcR0859jtTqAO688b7zh/9xFAforh31f"
    "5jPzHcX/aufwvFY6ifX/bO0rbtONQpbtgJrTrgXjbnaniO3PTSLMXe2CeTwhzjTumloB4K"
    "xR2cBuege9G7O7vsgC83nfPubbd3nXRjZKUo4gXYpxFuOu3LNMEt9w4LcmAJpRUosIoZ9i"
    "oxO5kN8IKQJrUaWnE+rWhF4QEr0or1CzQ4SNGKSctS04rZEWEN0BYKTajmUPAsuImRMIEt"
    "fwJwfXd5uW3OtvOI1HGlSYGDhfhaNJN9Nvah57EBfToFEwczhgjABLAx4iBC4kI/DJMOZR"
    "G3I4aAzv3/EQKYAf9CA+S+B9hwAXUM5AhBKxv/UNZNnmeU/4pvbfDm/9pQzJWkmCWABdz1"
    "UL6hUBanUJbwILOajRuZxDa2NbYgORXTaKipLDVVdOHeLNkXX7I3XGrDpe74XGYgBrFZhE"
    "yNNOqA76bZ1OLbl83G5Q5sXDZBdQ2lWF1Qm0jFjUUqKuy3oWvXRNduh1EMsVdwibFmyWcR"
    "Y1aw3mDPFBfHF8GUIaJP5UGtrxniTlCBnnw0wn27MAZVxEVx0cS1Ymc4ivF7zcn3dZ98jx"
    "otuwrqEM/KjB/p8MZAe3O8Xuvfd527zkVBmAOtU+D/vSe3neuL7vVvpyD4IEv68mv/nlx0"
    "PnVuboR8+OmefGp3L0WJ//ee3F2fd2767e71KZh9TDPp21lzDR1qachSrrvyl7dJrTqsvZ"
    "I4vz5aJLMBl8pFWtYpQoX4qFkE6LhOA/NCMKsA/tdt7zpns0EFrYF1Bv4HTOzusAupglTg"
    "MJ9GSDMGqWlCXCBNI+h6EcB96QbwFQAfFEN80EC+MuSuN/gb6YqlaT43GVOpxU7mptlJxp"
    "EtgncoX4dpctNYj5lViHcP5Rusl8AaQQM5inVU/ggeU2lG8RVG8YjY0XxIi7jiSuVajOyp"
    "rG5v3izglHOp/Kxuoi6JfJoSKoC7QrUOw84GQLfh1KTQKJylJq1XQyNff/xFyGHmbGE8Fz"
    "IU6W3uWPVhWVCvOQojzRFnwJ2/aa1Qb3awK72DbSLoIo1OSLEZOqVWv1li/aOWDxl6sjFv"
    "viX6lkq/SblU5b6FiTY08WjMNBcH+zRFGlyhvjPt3bpFDOzp1LLEUQVjHwzQkDoIQAJur/"
    "pfEmcWZDYO9wDwFoIOMsBkLM42MBcEZ/xFJkcH6eLQgiIpZFk3uidtILscYGPIQNDv/FSS"
    "bCySS/IbW3AKxvAR8bvySwUHR5AR23o6AATxMn5dFxEmH/+XsPil4uRz1CsfLN/yD36Fp2"
    "/iNocJ8H8S2ON2yc1A2BQ3XcC/PCBki4/CBL97lEFpJc6jPNe7nzX10u5SShgX70nYxtzo"
    "C/vpCs0mAZLCWecPiBwHmgqCKxfbhE5l1z+tz3TCB1cyBWJWc8ORdQom0AW2x3gfGIK9MA"
    "hg/xQEIS+yYziIcUlXHyPDM1G2G6352iU3sgldpi2XjEGh2jjqCzjqEWy5oXz5fL1auw64"
    "b5q9b7IR53eB+mYj9mxjyVZPajatXpVWV6wcsq+IEN7eEokcI7WdWRr/klRIc1CmhBXWjG"
    "9YbrWdo1751faGUXYQ/zEuWxblHPUG5eZ80pbOJ6Utcg0g/wrJj3I6ck4apHnjdAP4QoDn"
    "zE+F805lAgdWfAmZIvl/TUaWZEIGkf1qTVDNsm7VBagyTx5+cegjNpDzGUFTUlyZA4gpiY"
    "N55xDtQFZE0oXCz6Yz648R0LGje5iBAV91PiAHQGIE+wd+djE6BJRwMdk3D4A7lntqgylA"
    "PptKnQeZZMyh3mgsydOLsywZW9qd7sk9uRXq7inQTepyjT1qc/MzND5ZYlNs9gng9w+AKA"
    "Z7fOkCPoC4CK8aQ3P4Iqr/+M97Epc4lQ/GIR4guReomxBb4Jss8CW+8YuI34OextATswfY"
    "g7NtGNucvgdS7J7MBHy9A/k7RDwNuOufAwsbROzv7K/60rqtZkDNdO+tpmwr5+imuAnSPc"
    "bHPW0Isek5qreD5u7P5KlXdqtma7tf8X5YlDdK6zbkUZXJo9hwWrShU6pNO1e5nVNTYNG2"
    "Vqg37V3l9rYw8RjSZFhW0cZO6zYtvQMtXTQQKK3WOEFNdMg2okMyRHWRlETP55rvEdSn/L"
    "8yuL9KLrlWSDSvzgq1Et8Sw1PBtSTRzudZYjmeF+NYej5zIMmZkOIIqPyXoM2AxcdgWRi0"
    "ArAFNeILnAIoX3KPoQn8lvWj1DL0Shk3uSd738R3LZ7WOtD/dgCC4BvBzwgKw8Ij/0U17j"
    "5AZEgdHbkiJX2QvF6sowfQRXm8RiJDlWyadIqrJlXVVvkO+bfAtBPK1/Ck46vDRXLscKn8"
    "pFGHmRw7Y+oqXKZ8fEP5GuJbzsldqlp85LqkoXgTkK7wRj0XOUXHg7hO/fzPUtJu2dB1J5"
    "S7PS6CJlLMcvnRyQrVCoPe+vb46vTDA5oCbHw8/SD8hJPjj9+A//DhWSwEHDrhEgC6/J9L"
    "dSz9DzFjvQ9OXwkheeoLhABkd6JKvteWg6l5N9OY6qTIGaX8YUlu5wy1UmYy4GpljXihn7"
    "RZH+is17tMwH7WTeN6d3XW4RO4bIPoPYPZcXBrmR4rN8GUPxhid/bYxWw7qbhB856V7Kx9"
    "G9xGp5qJLVzEdUppbc6D4l71jjhQorvwFbjmE59FmNKMYvOOmSy8toOpg5kiJ1K+vx9TaS"
    "xWbbH8FgRJGqNIpINCc3MAH+0IvM0ZuHyod/M0VHMG7lds9UXOwDVnpJpzJVXahFvkXMki"
    "Ufee+gh9kThysQl3V7NX4RSLIU8ktQ3iuNV4hrvJz6OaDSPfreXBXGQLbgDf5b3sJ2F6z2"
    "z/egu/8ad1E+a4cYN0PMgAInUPDMLcgXiZN0Ey+NuAU/7MVAoy8DcdHHAxgiaiQoSx+18c"
    "OsmSmuXdRrlXG+1/c53Vdmqbl4aLuk28NFw0ldLNzKNxVIvhhG+5u6O0ClXhG6bfUYAKxb"
    "GF4k38WvY11VU6jlJdG1ze493OkdOKQrv2wLONvY6wjRysKw8DBjVzvRMYyaz1XYSrTPC/"
    "yuy+4liZP28/IscN/PtFtxhjKjXcXywlPkh0qgIIB+I1RLeU6DZ+R6b0pea81SxSad7QUv"
    "ANLSsFsq86mf38Pz1Dm78="
)
