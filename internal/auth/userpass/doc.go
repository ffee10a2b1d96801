// Package userpass is the userpass auth method: users log in with a name
// and a password and receive a token with the policies of their entry.
//
// Mounted at auth/userpass/, it serves
//
//	users/<name>           create, update, read, delete a user (LIST users)
//	users/<name>/password  change a user's password
//	users/<name>/policies  change a user's token policies
//	login/<name>           {"password": ...} → an auth block the core mints a token from
//
// User names are case-insensitive and trimmed: "admin", "Admin" and
// " admin " are one user. Passwords are stored only as bcrypt hashes and
// never appear in logs or errors.
//
// A failed login answers "invalid username or password" (400) whether the
// user is unknown or the password wrong, and both cases cost one bcrypt
// comparison, so neither the answer nor its timing tells them apart.
//
// # User lockout
//
// After LockoutConfig.Threshold failed logins (default 5), none more than
// CounterReset apart (default 15m), a user is locked out for Duration
// (default 15m): every login answers 403 "permission denied" without
// checking the password, even a right one. A successful login resets the
// counter. The counters live in memory, per mount: a restart or a
// standby taking over forgets them, as the mount table does not carry
// them. LockedUsers and Unlock serve sys/locked-users; SetLockout applies
// the mount's user_lockout_config tune. The same settings can be given at
// mount time as the options lockout_threshold, lockout_duration,
// lockout_counter_reset and lockout_disable.
package userpass
