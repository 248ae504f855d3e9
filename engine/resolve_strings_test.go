package engine

// resolve is resolveKeys over identifiers as strings, for tests written in
// terms of values: it interns each (kind, value) as a key id (in order of
// first appearance, as the store's key ids need not be) and translates the
// outcome back.
func resolve(records []idRecord, existing map[idKey]owner, nextID int64) stringResolution {
	ids := map[idKey]int32{}
	var keys []idKey
	intern := func(k idKey) int32 {
		if id, ok := ids[k]; ok {
			return id
		}
		keys = append(keys, k)
		ids[k] = int32(len(keys))
		return ids[k]
	}
	recs := make([]keyRecord, len(records))
	for i, r := range records {
		for k, v := range r.ids {
			if v != "" {
				recs[i][k] = intern(idKey{k, v})
			}
		}
	}
	uids := map[string]int64{}
	uidOf := func(u string) int64 {
		if u == "" {
			return 0
		}
		if id, ok := ids[idKey{0, u}]; ok {
			return int64(id)
		}
		if _, ok := uids[u]; !ok {
			uids[u] = -int64(len(uids) + 1)
		}
		return uids[u]
	}
	held := make([]holder, len(keys)+1)
	for k, o := range existing {
		if id, ok := ids[k]; ok {
			held[id] = holder{profileID: o.profileID, uid: uidOf(o.userID)}
		}
	}
	r := resolveKeys(recs, held, nextID)
	out := stringResolution{recordProfile: r.recordProfile, newProfiles: r.newProfiles, merges: r.merges}
	kinds := IdentityKinds()
	for i := range records {
		var refused [numKinds]bool
		for k := range refused {
			refused[k] = r.isRefused(i, k)
		}
		out.refused = append(out.refused, refused)
	}
	// New identifiers: each on its first row, to that row's profile.
	seen := map[int32]bool{}
	for i, rec := range recs {
		for k, key := range rec {
			if key == 0 || seen[key] || held[key].profileID != 0 {
				continue
			}
			seen[key] = true
			out.newIdentities = append(out.newIdentities, resolvedIdentity{kind: kinds[k], value: keys[key-1].value, line: records[i].line, profileID: r.recordProfile[i]})
		}
	}
	if len(out.newIdentities) != r.newKeys {
		panic("resolve: new identifiers miscounted")
	}
	for _, l := range r.log {
		out.log = append(out.log, resolvedLog{action: l.action, profileID: l.profileID, otherID: l.otherID, kind: kinds[l.kind], value: keys[l.key-1].value, line: records[l.row].line})
	}
	return out
}

// owner is the profile that already holds an identifier, by value.
type owner struct {
	profileID int64
	userID    string // that profile's user_id, "" if none
}

// stringResolution is a resolution with identifiers as strings.
type stringResolution struct {
	recordProfile []int64
	refused       [][numKinds]bool
	newProfiles   []int64
	newIdentities []resolvedIdentity
	merges        map[int64]int64
	log           []resolvedLog
}

type resolvedLog struct {
	action      string
	profileID   int64
	otherID     int64
	kind, value string
	line        int
}
