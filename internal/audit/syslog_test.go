//go:build !windows && !plan9

package audit_test

import (
	"log/syslog"
	"testing"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/testenv"
)

func TestSyslogDevice(t *testing.T) {
	probe, err := syslog.New(syslog.LOG_INFO|syslog.LOG_LOCAL0, "tresor-test")
	if err != nil {
		testenv.Missing(t, "syslog", "no syslog daemon: %v", err)
	}
	probe.Close()
	d, err := audit.NewDevice("syslog", map[string]string{"facility": "local0", "tag": "tresor-test"}, testSalt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	logBoth(t, d, fullInput())
	if err := d.Reopen(); err != nil {
		t.Errorf("Reopen: %v", err)
	}
}
