// Package auth holds Tresor's auth methods, one package each: userpass,
// approle and cert, with the token fields they share in tokenfields. This
// directory's own tests drive them end to end through a real server: the
// seed walkthroughs, the seeds' hvac code, and logins over mutual TLS.
package auth
