package testenv

import "testing"

func TestRequired(t *testing.T) {
	tests := map[string]struct {
		env       string
		component string
		want      bool
	}{
		"unset":                {"", "hvac", false},
		"named alone":          {"hvac", "hvac", true},
		"named in a list":      {"hvac,postgres,node", "postgres", true},
		"spaces and case":      {" HVAC , Postgres ", "postgres", true},
		"not named":            {"hvac,node", "postgres", false},
		"prefix is not a name": {"postgresql", "postgres", false},
		"empty items":          {",,", "", true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv(Var, tt.env)
			if got := Required(tt.component); got != tt.want {
				t.Errorf("Required(%q) with %s=%q = %v, want %v", tt.component, Var, tt.env, got, tt.want)
			}
		})
	}
}

// recorder is a testing.TB that records how a test ended instead of ending.
type recorder struct {
	testing.TB
	failed, skipped bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }

func TestMissing(t *testing.T) {
	tests := map[string]struct {
		env         string
		wantFail    bool
		wantSkipped bool
	}{
		"laptop skips":          {"", false, true},
		"other component skips": {"node", false, true},
		"required one fails":    {"node,hvac", true, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv(Var, tt.env)
			r := &recorder{TB: t}
			Missing(r, "hvac", "python3-hvac is not installed: %v", "exit status 1")
			if r.failed != tt.wantFail || r.skipped != tt.wantSkipped {
				t.Errorf("failed=%v skipped=%v, want failed=%v skipped=%v", r.failed, r.skipped, tt.wantFail, tt.wantSkipped)
			}
		})
	}
}
