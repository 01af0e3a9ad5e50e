/* td-durable-step.c: the step counter and its hook. See td-durable-step.h. */
#include "engine/common/td-durable-step.h"

static guint steps;
static TdDurableStepHook step_hook;
static gpointer step_hook_data;

/**
 * td_durable_step:
 * @what: what was just made durable, for the sweep's messages
 *
 * Counts one durability step and calls the hook, if one is set, with its number (from 1).
 */
void
td_durable_step (const char *what)
{
  guint n = (guint) g_atomic_int_add (&steps, 1) + 1;
  TdDurableStepHook hook = step_hook;

  if (hook != NULL)
    hook (n, what, step_hook_data);
}

/**
 * td_durable_step_set_hook:
 * @hook: (nullable): called at every step, on the thread that took it
 * @data: for @hook
 *
 * Sets the hook and starts the count again from 0. For tests; set it before a run starts.
 */
void
td_durable_step_set_hook (TdDurableStepHook hook, gpointer data)
{
  step_hook = hook;
  step_hook_data = data;
  g_atomic_int_set (&steps, 0);
}

/* Returns: the steps taken since the hook was last set */
guint
td_durable_step_count (void)
{
  return (guint) g_atomic_int_get (&steps);
}
