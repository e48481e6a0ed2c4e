"""Local services the ledger runs against: PostgreSQL and an Apache Kafka broker."""
