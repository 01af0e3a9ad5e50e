/* fuzz-tool-state.c: libFuzzer target for reading mbsync's state and the UIDs in other
 * tools' file names (td-tool-state.h): a Maildir taken over is input Tidings did not write.
 * The bytes go whole to each reader; built with -fsanitize=fuzzer when -Dfuzzing=true,
 * otherwise fuzz-seeds.c feeds every file of the seed corpus as an ordinary test.
 */
#include <stdint.h>
#include <string.h>

#include "engine/sync/td-tool-state.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TdMbsyncState state;
  g_autofree char *name = g_strndup ((const char *) data, size);
  TdToolKind kind;

  if (td_mbsync_state_parse ((const char *) data, size, &state))
    {
      g_assert_nonnull (state.near_to_far);
      td_mbsync_state_clear (&state);
    }
  g_assert_null (state.near_to_far);
  (void) td_mbsync_uidvalidity_parse ((const char *) data, size);
  guint32 uid = td_tool_state_name_uid (name, &kind);
  g_assert_true ((uid == 0) == (kind == TD_TOOL_NONE));
  return 0;
}
