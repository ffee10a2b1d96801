package audit

// DeviceConfig is an enabled audit device as the core stores and lists it.
type DeviceConfig struct {
	Path        string            `json:"path"` // ends in "/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	// Salt keys the device's HMACs; it must survive restarts so that
	// hashes stay comparable.
	Salt []byte `json:"salt"`
}
