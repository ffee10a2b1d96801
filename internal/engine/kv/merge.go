package kv

// mergePatch applies a JSON merge patch (RFC 7386) to doc and returns the
// result: null removes a key, objects merge recursively, anything else
// replaces. doc is modified in place.
func mergePatch(doc, patch map[string]any) map[string]any {
	if doc == nil {
		doc = make(map[string]any, len(patch))
	}
	for k, pv := range patch {
		if pv == nil {
			delete(doc, k)
			continue
		}
		pm, ok := pv.(map[string]any)
		if !ok {
			doc[k] = pv
			continue
		}
		dm, _ := doc[k].(map[string]any)
		doc[k] = mergePatch(dm, pm)
	}
	return doc
}
