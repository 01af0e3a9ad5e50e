/* td-storage-error.h: the storage layer's error domain. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_STORAGE_ERROR (td_storage_error_quark ())

/**
 * TdStorageErrorCode:
 * @TD_STORAGE_ERROR_IO: reading or writing the Maildir failed (disk full, permissions)
 * @TD_STORAGE_ERROR_BAD_NAME: a folder name cannot be mapped to a safe local path
 * @TD_STORAGE_ERROR_DB: the state database failed or is corrupt
 * @TD_STORAGE_ERROR_GONE: a message file is no longer there (a mail reader removed it)
 * @TD_STORAGE_ERROR_UNSAFE: refused, since mail found nowhere else would be lost
 * @TD_STORAGE_ERROR_UNREADABLE: a message file is there but cannot be read (permissions, a
 *   symbolic link); the rest of its folder can go on without it
 */
typedef enum
{
  TD_STORAGE_ERROR_IO,
  TD_STORAGE_ERROR_BAD_NAME,
  TD_STORAGE_ERROR_DB,
  TD_STORAGE_ERROR_GONE,
  TD_STORAGE_ERROR_UNSAFE,
  TD_STORAGE_ERROR_UNREADABLE,
} TdStorageErrorCode;

GQuark td_storage_error_quark (void);

G_END_DECLS
