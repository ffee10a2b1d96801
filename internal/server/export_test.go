package server

// EncodeIndex lets the process tests forge X-Vault-Index values.
var EncodeIndex = encodeIndex
