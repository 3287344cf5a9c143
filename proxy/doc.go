// Package proxy holds the Store decorators, in the manner of SpiceDB's
// datastore proxies (caching, hedging, observable): each wraps a
// gatehouse.Store, keeps every promise of the Store conformance suite
// (storetest.Run) on its own, and adds one thing. Cached answers checks
// and lookups from what it kept, exact by a gatehouse.ChangeFeed.
//
// It imports the root package, SpiceDB's schema compiler (to read which
// answers a change can reach) and otter; never an adapter.
package proxy
