// Package proc starts child processes for corral: the one reaper (the sole
// caller of wait4 in the program), the exit type, the child's stdio, its
// process group, and the group signal, which the reaper guards so that a
// group is only signalled while its id cannot have been reused.
//
// Both the supervisor and the script source start their children here;
// proc imports nothing of either. Nothing in corral calls exec.Cmd.Wait,
// Run or Output.
package proc
