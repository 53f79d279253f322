"""The plant simulator: a plant model in YAML, traffic synthesised from it (protocol-correct
packets, deterministic for a seed), attack scenarios with ground truth, the live range, drills."""
