package plugins

// SetProtocolVersion makes h claim protocol version v, for tests of the
// version check.
func SetProtocolVersion(h *Host, v int) { h.protocolVersion = v }
