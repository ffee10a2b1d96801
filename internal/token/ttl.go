package token

import (
	"errors"
	"fmt"
	"time"
)

// errPastMaxTTL: a renewal came after the token's maximum lifetime.
var errPastMaxTTL = errors.New("past the max TTL, cannot renew")

// ttlRequest is the input of calculateTTL, after Vault's CalculateTTL.
type ttlRequest struct {
	now, start time.Time // start is the token's creation time
	increment  time.Duration
	ttl        time.Duration // the token's own TTL, used without increment
	period     time.Duration
	backendMax time.Duration // an auth method's cap; 0 for none
	explicit   time.Duration // the token's explicit max TTL; 0 for none
}

// calculateTTL returns the TTL a token gets at creation or renewal, with
// Vault's warnings when it is capped. Limits count from the token's
// creation, so that no renewal extends a token past its maximum lifetime;
// periodic tokens are only bounded by an explicit max TTL.
func (s *Store) calculateTTL(r ttlRequest) (time.Duration, []string, error) {
	now := r.now.Truncate(time.Second)
	start := r.start.Truncate(time.Second)
	if start.IsZero() {
		start = now
	}
	maxTTL := s.opts.MaxTTL
	if r.backendMax > 0 && r.backendMax < maxTTL {
		maxTTL = r.backendMax
	}
	if r.explicit > 0 && r.explicit < maxTTL {
		maxTTL = r.explicit
	}
	var warnings []string
	var ttl time.Duration
	var limit time.Time
	switch {
	case r.period > 0:
		period := r.period
		if period > maxTTL {
			warnings = append(warnings, fmt.Sprintf("period of %q exceeded the effective max_ttl of %q; period value is capped accordingly", period, maxTTL))
			period = maxTTL
		}
		ttl = period
		if r.explicit > 0 {
			limit = start.Add(r.explicit)
		}
	default:
		switch {
		case r.increment > 0:
			ttl = r.increment
		case r.ttl > 0:
			ttl = r.ttl
		default:
			ttl = s.opts.DefaultTTL
		}
		limit = start.Add(maxTTL)
	}
	if !limit.IsZero() {
		left := limit.Sub(now)
		if left < 0 {
			return 0, nil, errPastMaxTTL
		}
		if ttl > left {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", ttl, left))
			ttl = left
		}
	}
	return ttl, warnings, nil
}
