from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "account" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "api_key" (
    "id" VARCHAR(16) NOT NULL PRIMARY KEY,
    "secret_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "account_id" UUID NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "api_key" IS 'An API key; only a SHA-256 of its secret part is stored, with a short public id.';
CREATE TABLE IF NOT EXISTS "smtp_config" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL,
    "host" VARCHAR(255) NOT NULL,
    "port" INT NOT NULL,
    "username" VARCHAR(320),
    "password_sealed" TEXT,
    "use_tls" BOOL NOT NULL,
    "from_email" VARCHAR(320) NOT NULL,
    "is_default" BOOL NOT NULL,
    "daily_limit" INT NOT NULL,
    "max_per_minute" INT,
    "priority" INT NOT NULL,
    "max_connections" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "account_id" UUID NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_smtp_config_account_00cb4e" UNIQUE ("account_id", "name")
);
COMMENT ON COLUMN "smtp_config"."password_sealed" IS '`v1:<key id>:<base64>` sealed with the row id as associated data; never the clear password.';
COMMENT ON TABLE "smtp_config" IS 'One provider of one account. At most one default per account: a partial unique index';
CREATE TABLE IF NOT EXISTS "message" (
    "id" UUID NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL,
    "from_email" VARCHAR(320),
    "reply_to" VARCHAR(320),
    "to" JSONB NOT NULL,
    "cc" JSONB NOT NULL,
    "bcc" JSONB NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT,
    "html" TEXT,
    "headers" JSONB NOT NULL,
    "message_id_header" VARCHAR(255) NOT NULL,
    "idempotency_key" VARCHAR(255),
    "payload_hash" VARCHAR(64) NOT NULL,
    "attempt_count" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ NOT NULL,
    "lease_owner" VARCHAR(64),
    "lease_expires_at" TIMESTAMPTZ,
    "last_error_code" VARCHAR(64),
    "last_error_message" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "account_id" UUID NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "delivered_config_id" UUID REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    "requested_config_id" UUID REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    CONSTRAINT "uid_message_account_91603a" UNIQUE ("account_id", "idempotency_key")
);
CREATE INDEX IF NOT EXISTS "idx_message_status_d36164" ON "message" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_message_account_0f3dd5" ON "message" ("account_id", "created_at");
COMMENT ON COLUMN "message"."status" IS 'QUEUED: QUEUED\nSENDING: SENDING\nSENT: SENT\nDEFERRED: DEFERRED\nFAILED: FAILED\nUNCERTAIN: UNCERTAIN';
CREATE TABLE IF NOT EXISTS "delivery_attempt" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "number" INT NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL,
    "ended_at" TIMESTAMPTZ NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "smtp_code" INT,
    "enhanced_code" VARCHAR(16),
    "reply" TEXT,
    "error_code" VARCHAR(64),
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "config_id" UUID REFERENCES "smtp_config" ("id") ON DELETE SET NULL,
    "message_id" UUID NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "delivery_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "type" VARCHAR(16) NOT NULL,
    "smtp_config_id" UUID,
    "attempt" INT,
    "code" VARCHAR(64),
    "smtp_code" INT,
    "enhanced_code" VARCHAR(16),
    "detail" TEXT,
    "at" TIMESTAMPTZ NOT NULL,
    "account_id" UUID NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "message_id" UUID NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_delivery_ev_account_b96efc" ON "delivery_event" ("account_id", "id");
COMMENT ON TABLE "delivery_event" IS 'Outbox: written in the transaction of the state change it describes; ids order them.';
CREATE TABLE IF NOT EXISTS "provider_health" (
    "consecutive_failures" INT NOT NULL,
    "opened_until" TIMESTAMPTZ,
    "probe_until" TIMESTAMPTZ,
    "exhausted_until" TIMESTAMPTZ,
    "minute_start" TIMESTAMPTZ,
    "minute_count" INT NOT NULL,
    "last_error_code" VARCHAR(64),
    "config_id" UUID NOT NULL PRIMARY KEY REFERENCES "smtp_config" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "provider_health" IS 'The circuit breaker and quota state of one config, shared by every worker through the DB.';
CREATE TABLE IF NOT EXISTS "smtp_usage" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "day" DATE NOT NULL,
    "sent" INT NOT NULL,
    "config_id" UUID NOT NULL REFERENCES "smtp_config" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_smtp_usage_config__c7ebc5" UNIQUE ("config_id", "day")
);
COMMENT ON TABLE "smtp_usage" IS 'Recipients reserved for a config on one UTC day: no reset job, a new day is a new row.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);
-- One default config per account, enforced by the database (added by hand: Tortoise's
-- schema generator does not emit partial unique indexes).
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_smtp_config_default" ON "smtp_config" ("account_id") WHERE is_default;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1T2zoW/iuafKIztEOB0i7tdiZAuM1eSroQdu/cS8cotpLoYkupLQOZLv99JdmO3+"
    "QkzhuOq5lOSaRzbOc5ejl6dHT8s+FQC9nem6ZpUp+wxjH42SDQQfxDtmoXNOBoFFeIAgZ7"
    "tpSFCaGex1xoimv1oe0hXmQhz3TxiGFKeCnxbVsUUpMLYjKIi3yCf/jIYHSA2BC5vOKv77"
    "wYEws9IS/6Oro3+hjZVuphsSXuLcsNNh7Jspub9tm5lBS36xkmtX2HxNKjMRtSMhH3fWy9"
    "ETqiboAIciFDVuJniKcMf3BUFDwxL2CujyaPasUFFupD3xZgND71fWIKDIC8k/jv8HP4aA"
    "kxw7jsdI3rVtcwGiWwMykRuGPCBFA/n4PrxoDI0oa4wemX5tXOwdErCQH12MCVlRKuxrNU"
    "hAwGqhL0GGX5N4fz6RC6apwj+QzS/EEXwTgqiEGOG1gEXwTQGiBtOPDJsBEZsCH/ur+3Nw"
    "Xj/zSvJMxcSuJMeY8IesplWLUf1Am8Y3xNFwk8DMjyKJ/xGoYdpEY6rZnB2wpV30QfthF9"
    "/gOtDrHHYd+aAn63/bV13W1+/SZu53jeD1vi1+y2RM2+LB1nSneOMnaaXAT8t939AsRX8G"
    "fnspXtNRO57p8N8UzQZ9Qg9NGAVmIYiEoj1J7FQNa/T3QyUdCD5v0jdC0jVRM3DzjCxj0a"
    "e/nGcRJqnv9+hWwosc03g2hAH+Hf0XgLm8Bz1Oij0rgpJGYt5HlwgJbE6GtwlbqC5DlsJE"
    "T6eLAkUNf8SqfyQnXCSnRGuk+Lume+ytl3siWQ8AZkhfcWd0p3P5WnNemYUxytYAiYy9Fq"
    "NAlofmsDLv8RUD50AgiuvzRf7787ArQPMPOAh/jEwcAIugxg/pVRF1m74BGzIRf2hpSXj/"
    "yejU3AXZZGBtW13GDFTmCxc6J0Ahd0TWa7fxtzTN4ezeGXvM1Od7FbIqqme4GBTY0h9IZl"
    "8M6o1dAnPDqcA/qjw0LoRZV2CH9NhzBpdRc90PuFrJ7WXIHVw8etitG3xMgRJlOtHHImRj"
    "nqIq21SgqjuqadwVjk1lI5jPMAn3M/BA8I97ckzG3+KJCYKrIiT4NtJ7A5L5cXu/Bx4kZl"
    "WhZHgP9uxIJJvXl92jxrNZ6LV6nrdJnPkI0fkDtuMoackZKlzIpMdaKtUJgPk7F0ZWjLEz"
    "xoE1bCZ8X5Zhnat7ou60A8wut/7O8fHLzf3zs4+vDu8P37dx/2PnBZ+bz5qvdTRoiT9m/t"
    "y256LBcFM+hM3+khN2+BQvhjhdkm2IKRIbTC/tvD94cfDo4OJ+BPSqZhHuGbWBgwvsxbyG"
    "9Ja9bQW62T44I4hIsYOamnTVxpE1OfmbTcXk9CpYZL+1WxKjkO1lKAXDj/pHQWmoIqtp5b"
    "9QyEyFC48VYBsMWtN6e4UBuuGrprbsIuGtnjPMpd9FTQficKdUB32njf+qObGuojFHe+Nv"
    "94lRruLzqXv0XiCdRPLzon2bbtutQt37BTWnXAfd2cq+W7ctPLcBR7Y+c2hQWNO6OXgbov"
    "FLdwGpyC7lnn5uSiBb5dtU7b1+3OZdqNkZWiiBfggEa4ajUvsgS33DssyYGllJagwCrWsJ"
    "eJ2cltgJeENK2lacXptKIThwcsSSvWL9BgN0MrpluWmlbMjwgrgLZUaEI1h4KZ4KZGwhS2"
    "/AnA5c3FxUtztq0HpI4rTQvszsXXoonszNiHjs969OkYPLqYMUQAJoANEQcREg8GYZi0L4"
    "t4O2IImNz/HyCAGQgu1EPeR4AtD1DXQq4QdPLxD+u6yWxG+a/k1gY3/3dNMVeSYpYAlnDX"
    "I3lNocxPoSzgQeY1tRuZxjaxNTYnOZXQ0NRUnpoqu3DXS/b5l+yaS9Vc6pbPZRZiENtlyN"
    "RYow74bppNLb99qTcut2DjUgfVaUqxuqDqSMWNRSoq2q+ma1dE174Moxhhr+ASE2YpZhET"
    "rWC1wZ4ZLo4vgilDxBzLg1rfc8SdoAJ9+WiE+3ZRDKqIi+KiqWslznCU4/f0yfdVn3yPjZ"
    "ZfBbWI7+TGj2x4Y6i9OV6v8e+b1k3rrCTModYxCP7ekuvW5Vn78rdjEH6QJV35tXtLzlrn"
    "rasrIR99uiXnzfaFKAn+3pKby9PWVbfZvjwGk49ZJv1l1lx9lzoGcpTrruLlbVqrDmuvNM"
    "4H+/NkNuBShUjLOkWoEB81ywCd1NEwzwWzCuB/XXcuCzYbVNBa2GTgf8DG3ha7kCpIBQ7T"
    "aYQsY5CZJsQFsjSCaZYBPJDWgC8BeK8c4j0N+dKQe37vb2QqlqbF3GRCpRY7mZtmJxlHtg"
    "zekXwdpslNYz1kTinePZLXWC+ANYIWchXrqOIRPKGiR/ElRvGY2DECSMu44krlWozsmaxu"
    "797N4ZRzqeKsbqIujXyWEiqBu0K1DsPOBkAfwbFNoVU6S01Wr4aNfPXxFxGHWbCFMStkKN"
    "bb3LHqvXVBveIojCxHnAN3+qa1Ql3vYFd6B9tG0EMGfSTlZuiMWv1midWPWgFk6GmEufkW"
    "6FsqfZ1yqdJ9C3rMWOwcpUJV97E5+lgMW+EufPFSW61dB9w3vfDWiQSLu0B9Ewn6I2tBq6"
    "c1tdWrYnXFNJfP7ozIIkuFhJr2YqpjXh3jupEY1/CMqTy1sMCBsgJ1faosGwbCf4zHFkW5"
    "QF2jrEOLXyi0ONsiVwDyr5C3oKAjF2QwmDZOa8DnArxgfiqdMiLH+S/5/hBF3t6ajCzps5"
    "QiccWKoJokzKgLUOs8NPDNpQ/YQu4XBG1JceXODmQkdqcdIRiFsmITPBKemYmkO0TAxK7p"
    "YwZ6fNV5j1wAiQV++JTBMDEI7QNKuJjsm7vAG0LeVUFvDJCwOHik7r3MD+JSfzCUCUXOTv"
    "LpSNZ2p1tyS66FuncMTJt6XGOHjnjzsww+WWJbvNpFAP9qF4hisMOXLuATSIrwqiG0+6/j"
    "+s//vCVJiWP5YBziHgIOHPMbQeyAO1kQSNzxi4jfg56G0BezB9iB4Y+TscIfgRS7JROBQG"
    "9X/g6xFQZuuqfAwRbBgyF7tez7Zl40edkCBzEq6bjuguJTF+ImyPQZH/eMPsS276pe7FW4"
    "vVykrneZs7vMyX5YljfK6mryqMrkUWI4LWvojKq2c5XtnJkCy9paoa7tXWV7O5j4DBnyRQ"
    "pljZ3V1ZbeAkuXjbXLqmknKOsE6eiQTUSH5IjqMtkEZqeJ7RDUpfy/dXB/lVxyLZEjVp3Q"
    "YSm+JYGngmtJo13MsyTSM87HsXQC5kCSMxHFEVL5b0CTAYePwbIwtAIYCWokEDgGUL6fFk"
    "MbBJYF0qA5emUdN7klO3fiu5HMSBnq3+2CMPhG8DOCwnDwIMgx770CiPSpayJPZJMN886K"
    "dXQPeqiI10gll5CmyWan0FkmXpTvkH9LTDuRfA0PKbzdm+d4PJcqzvewlzseP6SewmUqxj"
    "eSryG+6zl0Q1WLj0KXNBLXL9NTeKO+h9yy40FSp37+51oyZoyg5z1S7vZ4CNpIMcsVRycr"
    "VCsMeuPu4e3xp3s0Btj6fPxJ+AlHh5/vQPDw4BGzYLvHpY9cAkCP//OoiaX/IWasj4CIPS"
    "IpxJGFLogAyO9ErfleLxxMzbuZwWzVdi6l/GFJYeeMtDLNpMfV1jXiRX7SZn2gk07nIgX7"
    "STuL683XkxafwKUN4lcE5cfBF0vSVLkJZv2DIfYmj12ubacVN9i8JyVb274t3kbHho0dXM"
    "Z1ymhtzoPiXvWWOFCiu/AVuBEQn2WY0pyiTg+fh3fkYupipkhnUOzvJ1R0i1W3WH4LgiSN"
    "USbSQaG5OYD3twRefQauGOrtPA2lz8D9ilaf5wycPiOlz5VUaRNunnMl80Td++oj9GXiyM"
    "Um3E3NstiXiyFP5aML47jVeEa7ybNRzYeRb9fyYCqyJTeAb4ry9Kea3oztX3/uZP2NK2Ti"
    "ERYnLAAfvJD7gCzQpy6AYZg7EO/hJEgGf1twzJ+ZSkEG/qa9XS5G0KOoEGHswReXPuZJzf"
    "XdRrlXG+9/c53ldmr1+z5F3Sbe9ylMpXQzi2gc1WI45Vtu7yitQlX4htn0wqhUHFskruPX"
    "8m+YrNJxlOq2wcU93pc5clpRaFceeLaxNwk1kYtN5WHAsGaqdwJjmZW+RmiZCf5Xmd2XHC"
    "uL5+0H5Hqhfz/vFmNCpYb7i2uJDxKdqgTCoXgN0V1LdBu/I1P6UlNeSBKr6OTqJZOrLxXI"
    "vuxk9vx/c0Lkpw=="
)
