/* td-durable-step.h: the numbered durability steps of a sync.
 *
 * Every place where a sync makes something durable or destructive calls td_durable_step():
 * a state DB commit, a disk flush, a message file published or renamed or removed, a
 * command the server acted on. A normal run only counts them. The crash-point sweep in the
 * tests sets a hook that ends the process hard at step N, for every N, to show that a kill
 * at any of them leaves mail and state consistent (as isync's tests interrupt its journal).
 * Any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*TdDurableStepHook) (guint step, const char *what, gpointer data);

void td_durable_step (const char *what);
void td_durable_step_set_hook (TdDurableStepHook hook, gpointer data);
guint td_durable_step_count (void);

G_END_DECLS
