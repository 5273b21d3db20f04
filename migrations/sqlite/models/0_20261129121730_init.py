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
CREATE TABLE IF NOT EXISTS "webhook" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "url" VARCHAR(2048) NOT NULL,
    "events" VARCHAR(200) NOT NULL /* Subscribed event types as ",SENT,FAILED," so SQL can match one with LIKE on any dialect. */,
    "secret_sealed" TEXT NOT NULL /* `whsec_...` sealed with the row id as associated data. */,
    "previous_secret_sealed" TEXT /* The secret before the last rotation: it still signs until previous_secret_expires_at. */,
    "previous_secret_expires_at" TIMESTAMP,
    "enabled" INT NOT NULL,
    "disabled_reason" TEXT,
    "consecutive_failures" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
) /* An endpoint that receives delivery events, signed the Standard Webhooks way. */;
CREATE TABLE IF NOT EXISTS "webhook_delivery" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED */,
    "attempt_count" INT NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "lease_owner" VARCHAR(64),
    "lease_expires_at" TIMESTAMP,
    "last_status_code" INT,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "completed_at" TIMESTAMP,
    "event_id" BIGINT NOT NULL REFERENCES "delivery_event" ("id") ON DELETE CASCADE,
    "webhook_id" CHAR(36) NOT NULL REFERENCES "webhook" ("id") ON DELETE CASCADE
) /* One event for one webhook; written in the transaction that stored the event. */;
CREATE INDEX IF NOT EXISTS "idx_webhook_del_status_5b6f00" ON "webhook_delivery" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_webhook_del_webhook_6a1bba" ON "webhook_delivery" ("webhook_id", "id");
CREATE TABLE IF NOT EXISTS "webhook_attempt" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "number" INT NOT NULL,
    "started_at" TIMESTAMP NOT NULL,
    "duration_ms" REAL NOT NULL,
    "status_code" INT,
    "error" TEXT,
    "response_snippet" TEXT,
    "delivery_id" BIGINT NOT NULL REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE
);
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
    "eJztXW1z2rgW/isaPiUzbCdN07Q37e0MSWjLNoVuIHd3tum4whZBG1tibTmU2e1/v5Jsg1"
    "9kwLzFOJrpNCCfY5vn6OXo0dHRPzWHWsj2njVMk/qE1c7APzUCHcQ/pC/VQQ2ORrMLooDB"
    "vi1lYUyo7zEXmuJeA2h7iBdZyDNdPGKYEl5KfNsWhdTkgpjczYp8gv/2kcHoHWJD5PILX7"
    "/xYkws9AN50dfRvTHAyLYSL4st8WxZbrDJSJbd3LQu30tJ8bi+YVLbd8hMejRhQ0qm4r6P"
    "rWdCR1y7QwS5kCEr9jPEW4Y/OCoK3pgXMNdH01e1ZgUWGkDfFmDU3g58YgoMgHyS+O/kXf"
    "hqMTHDaHd6RrfZM4xaAexMSgTumDAB1D8/g/vOAJGlNfGAi4+N64MXp4cSAuqxO1delHDV"
    "fkpFyGCgKkGfoSz/ZnC+GEJXjXMkn0Kav+gqGEcFM5BnFSyCLwJoC5DWHPjDsBG5Y0P+9f"
    "joaA7G/2tcS5i5lMSZ8hYRtJR2eOk4uCbwnuFrukjgYUCWRfmSX2HYQWqkk5opvK1Q9Vn0"
    "YR/R5z/Q6hB7EratOeD3Wp+b3V7j8xfxOMfz/rYlfo1eU1w5lqWTVOnBacpO05uA31u9j0"
    "B8BX922s10q5nK9f6siXeCPqMGoWMDWrFuICqNUPspOrLBfayRiYI+NO/H0LWMxJVZ9YAj"
    "bNyjiZetHOeh5vtP18iGEttsNYg69BH+hCZ7WAV+RpU+Kp1VhdiohTwP3qE1Mfoc3KWqIH"
    "kOGwmRAb5bE6guv9OFvFFVsRqj/pDS+zVx+j24S5VAEj0WPaZ5fVj2knPspEsg4a3MCp8t"
    "npTso1Tu6LT3muONBv3kUt5orUFA40sLcPk3gPLxBUDQ/dj45fjlKaADgJkHPMRHVwZG0G"
    "UA86+MusiqgzFmQy7sDSkvH/l9G5uA+3W1FKpbecCGPeV8D07pKa/ovy32kXfmvT0/XcJ5"
    "e572CWa+m7g031UObGoMoTcsgndKrYKO8+nJEtCfnuRCLy5pr/lpes1xq7vogd6vZPWk5g"
    "asHr5uWYy+J0aOMJlr5ZBYMorxO0mtTfI85TXtAlonM+HMYJwF+D33Q/Ad4f6WhLnFXwUS"
    "U8XoZLnC/QQ24+XyYheOp25UqmZxBPjvRiwY1Bvdi8Zls/Yzfyq/TZf5Etn4AbmTBmPIGS"
    "mp3LTIXCfaCoV5NzmTLg23e47vWoQV8FlxtlqG9i2vy3onXuGX/xwfv3jx6vjoxenrlyev"
    "Xr18ffSay8r3zV56NaeHOG99aLV7yb5cFCzgfH2nj9ysBXLhnyksNsEe9AyhFY6fn7w6ef"
    "3i9GQK/rRkHuYRvrGJAePTvJX8lqRmBb3VKjkuiEO4ipHjetrEpTYx9ZlJiy2IxVQqOLXf"
    "FKuSIaotBci5409CZ6UhqGTzuU2PQIgMhRtv5QCbX3sziivV4bKhu+Uq7KKRPcmi3EM/cu"
    "rvVKEK6M7r75t/9BJdfYTiwefGH4eJ7v6q0/4QicdQv7jqnKfrtutSt3jFTmhVAfdtc66W"
    "78oVL8NRLIy9tynMqdwpvRTUA6G4h8PgHHQvOzfnV03w5bp50eq2Ou2kGyMviiJegAMa4b"
    "rZuEoT3HKBtSAHllBagwIrWcVeJ7ApEyVQENKklqYV59OKziyGYk1asXrRGPUUrZisWWpa"
    "MdsjbADaQvEb5ewKFoKb6AkT2PI3AO2bq6vH5mybD0gdfJsUqC/F16Kp7MLYh47P+vTHGR"
    "i7mDFEACaADREHERIPBrGqdCCLeD1iCJjc/79DADMQ3KiPvDcAWx6groVcIehk4x+29ZDF"
    "jPLX+NIGN/83TTGXkmKWABZw1yN5TaEsT6Gs4EFmNbUbmcQ2tjS2JDkV09DUVJaaKjpx11"
    "P25afsmkvVXOqej2UWYhDbRcjUmUYV8N01m1p8+VIvXO7BwqUOqtOUYnlB1ZGKO4tUVNRf"
    "TdduiK59HEYxwl7BJcbMks8ixmrBZoM9U1wcnwRThog5kRu1vmWIO0EF+vLVCPftohhUER"
    "fFRRP3iu3hKMbv6fQAm04PMDNadhbUJL6T6T/S4Y2h9u54vdpvN82b5mVBmEOtMxD8vSXd"
    "Zvuy1f5wBsIPsqQnv/ZuyWXzffP6WshHn27J+0brSpQEf2/JTfuied1rtNpnYPoxzaQ/zp"
    "xr4FLHQI5y3pU/vU1qVWHulcT5xfEy6R+4VC7S8poiVIj3mkWAjutomJeCWQXwr91OO2ex"
    "QQWthU0G/gU29vbYhVRBKnCYTyOkGYPUMCFukKYRTLMI4IG0BnwNwPvFEO9ryNeG3PP7fy"
    "FTMTXN5yZjKpVYydw1O8k4skXwjuSrMEzuGushcwrx7pG8xnoFrBG0kKuYR+X34DEV3Yuv"
    "0YvPiB0jgLSIK65UrkTPnkp99/LlEk45l8pPfSeuJZFPU0IFcFeoVqHb2QHoIzixKbQKZ6"
    "lJ61Wwkm8+/iLiMHOWMBaFDM30dret+mhbUG84CiPNEWfAnb9orVDXK9ilXsG2EfSQQcek"
    "2AidUqveKLH5XiuADP0YYW6+FdqWSl+nXCpz28LEGNj4bsgMD4frNEUMrlDfG3vXuoiBA5"
    "M6jtiqYB2CPhpQFwFIQPdz70tiz4LMxuHVAbcQdJEFxkOxt4F5INzjLzI5usgUmxYUSSG3"
    "9aBb0gCyyQE2hAyE7S5IJcmGIrkkf7ADJ2AIHxB/Kr9VuHEEWbGlpzogiJfx+3qIMPn6T6"
    "LGrxQnn6Ne+mD5WrDxK9p9E69zmIDgJ4EDXi95NRB1ilddwL/cIzQSH0UV/NunDMpa4j7I"
    "fb2H2aq+tadsJYyLtyQ8wrzSF/bTFZo6AZLCWecviFwX2gqCKxfbhE5p5z+1j3TMO1cyAW"
    "JU86KedQLG0AMjn/E2MAAHURDA4RkIQ15kw3AR45KeOUSWb6NsM9rwvbdsZBt6zFgtGYNC"
    "VTvqSzjqM9hyQ/ny+Xq1dhVw3zV7r7MR5zeB6mYj9kfWilZPamqrl8XqiplD9hwN4e2tkM"
    "hxprY3U+MnSYXojTJbmGFN+YbVZts56qWfbe8YZRfxH+OxVVHOUdco6/1Jj7Q/KV0jNwDy"
    "U0h+lNOQc9IgzeunNeBLAZ4zPhXOO5UJHFjzBDJF8v+K9CzJhAwi+9WGoJpm3aoKUNvcef"
    "jFpQ/YQu5HBG1JcWU2IKYk6vP2IY5CWRFJFwkvTGfWGyJgYtf0MQN9Puu8Ry6AxArXD4Ls"
    "YnQAKOFism3WgTeUa2r9CUABm0rde5lkzKX+3VCSp5fnWTJ2a0+6JbekK9S9M2Da1OMaB3"
    "TEq59l8MES22KxTwB/WAeiGBzwqQt4C+Ii/NIQ2oNfZtff/feWxCXO5ItxiPtIrgWaNsQO"
    "+C4LAonv/Cbi96AfQ+iL0QMcwOkyzMievAFS7JZMBQK9uvwdIp4G3PQugIMtItZ3Dtc9tO"
    "5RM6BmmvejpmzbztZN8RBk+oz3e8YAYtt3VUeo5q7P5KmXdqnm0Va/4u2wKG+U1tXkUZnJ"
    "o1h3WtTQKVVt5zLbOTUEFrW1Ql3bu8z2djDxGTJkWFZRY6d1taX3wNJFA4HSatoJ0tEhjx"
    "EdkiGqi6QkWpxrvkNQj/L/tsH9lXLKtUaieXVWqLX4lhieCq4liXY+zxLL8bwcx9IJmANJ"
    "zkQUR0jlPwMNBhzeB8vC0ApgJKiRQOAMQHnIPYY2CCwbRKll6JVtPOSWHHwX3414WutQ/3"
    "sdhME3gp8RFIaD74KDarxDgMiAuibyREr6MHm9mEf3oYfyeI1EhippmnSKK52q6lH5Dvm3"
    "wLATyVdwp+Pzo2Vy7HCp/KRRR5kcO0PqKVymfHwj+Qriu52du1Q1+ch1SSNxHZCu8EZ9D7"
    "lF+4O4TvX8z62k3RpBzxtT7vZ4CNpIMcrlRycrVEsMeu37w/Ozt/doArD17uyt8BNOT959"
    "B8HLR3uxEHDpmEsA6PF/HjWx9D/EiPUm3H0lhOSuLxABkF2J2vKzHjmYmjczg6l2ipxTyl"
    "+W5DbOSCtVTfpcbVs9XuQn7dYHOu90rhKwn7fSuN58Pm/yAVzaYHbOYLYffLRMj6UbYLbf"
    "GWJv+trF6nZScYfVe1qyt/Xb4nV0YtjYwUVcp5TW7jwo7lXviQMlmgufgRsB8VmEKc0o6j"
    "NmsvCOXExdzBQ5kfL9/ZiKrrHqGssfQZCkMYpEOig0dwfw8Z7Aq/fA5UO9n7uh9B64p2j1"
    "ZfbA6T1Sel9JmRbhltlXskzUva/eQl8kjlwswt1U7CicYjHkiaS2YRy3Gs9oNXkxqtkw8v"
    "2aHsxFtuAC8E3eYT+Jqrdg+ddf+sSf2nWU48YL0/EgC4jUPTAMcwfiMG+CZPC3BSf8nakU"
    "ZOAv2q9zMYLG4oIIYw++uHScJTW39xjlWu1s/ZvrrLdSqw8NF9d2cWi4MJXSzcyjcVST4Y"
    "Rvub+9tApV4RumzyhAheLYInEdv5Y9prpM21HKWwdX93gfZ8tpSaHdeODZzo4j/B31h5Te"
    "qzyU6NJc/2QcE1ronDQIQMQaUY5TkP3SRSbCD/FkacHu0DrweB3iPoVY9OzyCmTxHwrCF/"
    "LAGE6yLsmmb77GZjgdIbaLCDHfLbQMGopXcP3z+Ojk9TIBTFwsP4JJXkwOonk7tfMxnmmU"
    "GeZa1++L733eB8g3BhIwEXtxW6uLIyHrwamP9dsa8Cjo/nYFTEiAA5k5lNMaGbVx1frUFP"
    "MckfLRwtBGJlOkEd7qoxZUi2WWxY/nhA0eZ8MGPWS6iK0QIZRRLHUN+T4e8hc2nj17ViBS"
    "RxH7s/JtHjmsZ+SiB0x9z1jZ3vl3KHNgmEgbELxwlPBbmEpsaeH2YpL3OhNR5h7Dti39CC"
    "/YaA/Sv3eWUF+dnGArTylZrVn9UIL5d9Kb8sqz3JRdZUREYKyi3uaFTcW0dEhggZAp7Enc"
    "DBdBLyDll+2hFaol7po30pS2kk5YJ+bQMSuPPR/cz+gFHbPyFK2uY1bKweDrmJXdx6yEVD"
    "RWuQhFAldCtjrKg1gh5LeaAjGELcqwmb/oEcvBuXDtIzqYcqk1kHx8NrzeoOMcdhXnQHyn"
    "rzrlMhf+mYLe7avw82XupZU8vqRmBT2+/fXwso695Qf5OwxHMRa+tynMoy2SeikrD4RitS"
    "x72bk5v2qCL9fNi1a31WknTSkvJlmi62bjKtummO/l5HLKjy9KaumtX9nOSia6KsK6TRU0"
    "11aca+Pdz0jwZYZH8GiEFANEPvAqXW2D4jaIommUc/N5XmdKsUq+zw480DkTeSs2C1xzJl"
    "/deWVdfQrEpLwxeVMj5E9T43ZaPE+N15Pl8sgFISsisF+GogT3eQPGrjgUm0S51uInBsvI"
    "O49RN4yvk3fIroBv+uaLJ89fQ29GSIv099GsXUwWuOjXeCQjrxLf9GS7lJPtmRGzMWlNPr"
    "HO9HMKh3blkX+lvq72pdm+bLU/1IrZJVI7A+GHW9K9ubhoNi+bl2dg+vGWBPFjZyD4m25p"
    "y8QPPj9dJr1ceq4Yyy53mo4Si9pW0cS8GT29CpqecKT7rgy48ykShbrmSUrNk9gI8kkLHR"
    "MVxzgnDXNSrQozna0f0C0hWz1oTaWvQ9VK3bZErvLVuDGVqibI5mWSL0LWJLWq0HntPCxN"
    "R0s9hR7MpM5I0BYrGTqlq8eqMltakh2FSde4lmZcC9IQM/AjCq1YPFpSS8ejzaexYwTcZl"
    "js/QV2IXudrFmLz+ZGD8rMEoWRrerBu2l8493m6tF+mzkXOhuSVhHQtxrq10AuNpWnHIdX"
    "6vOWTOBMpjQRfU9lhWHNqWf+2gHvuDys2iOVz6LFVMq8X3lFCm0rB5+IRlUA4VC8guhu5d"
    "ge/kSmHMp/7XbauTvMmDpRlIVNBv4FNvb2eFhRgSvAmM+opMmTlLcqbnC+7gl96w5mP/8P"
    "D0vd/w=="
)
