/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small files read whole and written atomically (temporary file, fsync, rename, directory
 * fsync): the configuration, the drift file, the persisted settings, the imported ntp.conf. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FILES_MAX_SIZE (1024 * 1024)

/* Reads a whole regular file of at most max bytes, refusing symlinks unless follow is set.
 * Returns the length or a negative errno (-EINVAL for anything but a regular file);
 * *ret_text is NUL-terminated and must be freed. */
ssize_t read_small_file(const char *path, size_t max, bool follow, char **ret_text);

/* Replaces path with text so that a crash at any moment leaves either the old or the new file.
 * A symlink at path is replaced by the file, never written through. */
int write_file_atomic(const char *path, const char *text, size_t len, int mode);

/* Removes what a crash between creating and renaming left behind: DIR/.BASE.XXXXXX files of
 * write_file_atomic() for path DIR/BASE. */
void remove_stale_temporaries(const char *path);
