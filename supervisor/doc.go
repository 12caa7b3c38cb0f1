// Package supervisor owns the appliance's processes and tasks: restart
// policies, backoff, dependencies, readiness, shutdown order, reload, and
// the [supervisor], [process.NAME] and [task.NAME] sections that configure
// them.
package supervisor
