package agent

import (
	"bytes"
	"strings"
	"testing"
)

func TestMaskWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		writes  []string
		want    string
	}{
		{"whole value", []string{"hunter22"}, []string{"pw=hunter22\n"}, "pw=" + Concealed + "\n"},
		{"split across writes", []string{"hunter22"}, []string{"pw=hun", "ter22\n"}, "pw=" + Concealed + "\n"},
		{"prefix that is not a value", []string{"hunter22"}, []string{"hunt", "ing\n"}, "hunting\n"},
		{"held until flush", []string{"hunter22"}, []string{"x hunter2"}, "x hunter2"},
		{"longest first", []string{"abcd", "abcdef"}, []string{"abcdef abcd"}, Concealed + " " + Concealed},
		{"short values left", []string{"on"}, []string{"on and on"}, "on and on"},
		{"several", []string{"s3cret!", "user-ann"}, []string{"user-ann:s3cret!"}, Concealed + ":" + Concealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			m := &MaskWriter{W: &out}
			m.SetSecrets(tt.secrets)
			for _, w := range tt.writes {
				if n, err := m.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("output %q; want %q", out.String(), tt.want)
			}
			for _, s := range tt.secrets {
				if len(s) >= minMaskLen && strings.Contains(out.String(), s) {
					t.Errorf("secret %q leaked", s)
				}
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	got, err := ParseEnvFile("# comment\n\nA=1\nexport B = \"two words\"\nC='x=y'\r\nA=3\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=two words", "C=x=y", "A=3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q; want %q", got, want)
	}
	if _, err := ParseEnvFile("novalue\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad line: %v", err)
	}
	if d := dedupEnv(got); strings.Join(d, "|") != "A=3|B=two words|C=x=y" {
		t.Errorf("dedupEnv = %q", d)
	}
}
