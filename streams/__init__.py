"""The Faust worker: the register, the verify agent and the ClickHouse sink."""
