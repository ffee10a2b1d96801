// Package identity keeps Tresor's identities: entities (one per person or
// service), their aliases (one per auth mount they log in through), and
// groups of entities, as Vault's identity secrets engine does. The core owns
// the Store, mounts its Backend at identity/, and asks it two things:
//
//   - at every login, Login finds or creates the entity behind the auth
//     method's alias (alias name + mount accessor) and updates the entity's
//     external group memberships from the method's group aliases;
//   - at every request by a token with an entity, Resolve answers the
//     entity's identity policies (its own and those of every group it is in,
//     directly or through parent groups) and the values templated policies
//     are rendered with.
//
// Everything is stored through the barrier, one key per object, and indexed
// in memory when the Store opens, so Resolve never reads storage. Its
// answers are cached per entity and the cache is dropped by every change,
// so a policy added to a group applies to existing tokens at their next
// request.
package identity
