"""One construct per concern of the tachiai stack; :mod:`infra.stack` wires them together."""
