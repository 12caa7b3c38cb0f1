package supervisor

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// Credential is the uid and gid a child runs as.
type Credential struct {
	UID, GID uint32
}

// LookupUser resolves "name", "uid" or "uid:gid" (names resolved through the
// system's user database).
func LookupUser(spec string) (Credential, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	var c Credential
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		c.UID, c.GID = uint32(uid), uint32(uid)
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return c, fmt.Errorf("no such user %q", name)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.UID, c.GID = uint32(uid), uint32(gid)
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(group, 10, 32); err == nil {
			c.GID = uint32(gid)
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return c, fmt.Errorf("no such group %q", group)
			}
			gid, _ := strconv.ParseUint(g.Gid, 10, 32)
			c.GID = uint32(gid)
		}
	}
	return c, nil
}
