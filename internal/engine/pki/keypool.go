package pki

import (
	"crypto"
	"sync"
)

// keyPool keeps a few freshly generated RSA keys ready, so an issue under
// an RSA role does not wait the tens of milliseconds RSA generation takes
// when requests come in bursts. Each key is handed out once. A refill
// runs in the background only while the pool is below capacity, so no
// goroutine outlives the work (a backend has no shutdown hook).
type keyPool struct {
	mu    sync.Mutex
	pools map[keySpec]*specPool
}

type specPool struct {
	keys      chan crypto.Signer
	refilling bool
}

// poolSize is how many keys of each RSA size are kept ready.
const poolSize = 4

// get returns a key of spec: a pooled one when ready, else a new one.
// It never blocks on another request.
func (p *keyPool) get(spec keySpec) (crypto.Signer, error) {
	if spec.Type != "rsa" {
		return spec.generate()
	}
	sp := p.pool(spec)
	defer p.refill(spec, sp)
	select {
	case k := <-sp.keys:
		return k, nil
	default:
		return spec.generate()
	}
}

func (p *keyPool) pool(spec keySpec) *specPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pools == nil {
		p.pools = map[keySpec]*specPool{}
	}
	sp := p.pools[spec]
	if sp == nil {
		sp = &specPool{keys: make(chan crypto.Signer, poolSize)}
		p.pools[spec] = sp
	}
	return sp
}

// refill starts a background fill of sp unless one is running.
func (p *keyPool) refill(spec keySpec, sp *specPool) {
	p.mu.Lock()
	if sp.refilling || len(sp.keys) == cap(sp.keys) {
		p.mu.Unlock()
		return
	}
	sp.refilling = true
	p.mu.Unlock()
	go func() {
		defer func() {
			p.mu.Lock()
			sp.refilling = false
			p.mu.Unlock()
		}()
		for len(sp.keys) < cap(sp.keys) {
			k, err := spec.generate()
			if err != nil {
				return
			}
			select {
			case sp.keys <- k:
			default:
				return
			}
		}
	}()
}
