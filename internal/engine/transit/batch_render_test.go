package transit

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/framework"
)

// resultListBatch is a batch encrypt as runBatch writes it, with a
// resultList of encryptResult: the reference encryptScratch.batch must
// match byte for byte.
func resultListBatch(p *policy, items []framework.Object, partialCode int) (string, int, []string) {
	sc := encryptScratch{nonces: nonces{left: len(items)}}
	resp, _ := runBatch(items, false, partialCode, sc.result(p, len(items)))
	raw, _ := json.Marshal(resp.Data["batch_results"])
	return string(raw), resp.StatusCode, resp.Warnings
}

var ciphertextRE = regexp.MustCompile(`vault:v\d+:[A-Za-z0-9+/=]+`)

// TestEncryptBatchRendered: the batch_results encryptScratch.batch writes
// as it goes are the JSON of runBatch's results, with the same status and
// warnings, for raw and decoded items, successes, every kind of failure,
// references of every JSON type, and partial failure codes. A convergent
// key makes the ciphertexts comparable byte for byte; with random nonces
// only the ciphertexts differ.
func TestEncryptBatchRendered(t *testing.T) {
	h := newHarness(t)
	h.write("keys/conv", "derived", true, "convergent_encryption", true)
	h.write("keys/rand")
	h.write("keys/rand/rotate")
	ctx := enc("ctx")
	lists := []string{
		`[{"plaintext":"` + enc("a") + `","context":"` + ctx + `"}]`,
		`[{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":"r-1"},{"plaintext":"` + enc("bb") + `","context":"` + ctx + `","reference":"<é\u2028\"x\">"}]`,
		`[{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":7},{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":true},{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":null},{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":{"x":1}}]`,
		`[{"plaintext":"not base64!","context":"` + ctx + `","reference":"bad"},{"plaintext":"` + enc("ok") + `","context":"` + ctx + `"}]`,
		`[{"plaintext":"` + enc("a") + `"},{"plaintext":1.5,"context":"` + ctx + `"},{"plaintext":"` + enc("a") + `","context":"` + ctx + `","key_version":9}]`,
		`[{"plaintext":"` + enc("a") + `","context":"` + ctx + `","key_version":"x"},{"plaintext":"` + enc("a") + `","context":"` + ctx + `","key_version":1}]`,
		`[{"plaintext":"","context":"` + ctx + `"},{"context":"` + ctx + `"},{}]`,
	}
	for _, key := range []string{"conv", "rand"} {
		p, err := h.b.key(context.Background(), h.s, key)
		if err != nil || p == nil {
			t.Fatal(key, err)
		}
		for i, list := range lists {
			for _, form := range []string{"raw", "decoded"} {
				var items []framework.Object
				if form == "raw" {
					for _, r := range rawItems(t, list) {
						items = append(items, framework.RawObject(r))
					}
				} else {
					for _, m := range decodedItems(t, list) {
						items = append(items, framework.ObjectOf(m.(map[string]any)))
					}
				}
				for _, partial := range []int{0, 207, 999} {
					want, wantCode, wantWarn := resultListBatch(p, items, partial)
					sc := encryptScratch{nonces: nonces{left: len(items)}}
					resp := sc.batch(p, items, partial)
					raw, err := json.Marshal(resp.Data["batch_results"])
					if err != nil {
						t.Fatal(err)
					}
					got := string(raw)
					if appended := string(resp.Data["batch_results"].(renderedResults).AppendJSON(nil)); appended != got {
						t.Errorf("AppendJSON %s, MarshalJSON %s", appended, got)
					}
					if key == "rand" {
						got, want = ciphertextRE.ReplaceAllString(got, "C"), ciphertextRE.ReplaceAllString(want, "C")
					}
					if got != want || resp.StatusCode != wantCode || strings.Join(resp.Warnings, "|") != strings.Join(wantWarn, "|") {
						t.Errorf("%s list %d %s partial %d:\n got %d %q %s\nwant %d %q %s", key, i, form, partial, resp.StatusCode, resp.Warnings, got, wantCode, wantWarn, want)
					}
				}
			}
		}
	}
}
