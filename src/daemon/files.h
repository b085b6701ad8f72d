#pragma once

/* Reading and writing the daemon's files: the configuration (a main file and the *.conf files in
 * FILE.d), and small state files written atomically (temporary file, fsync, rename, directory fsync). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

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

/* Loads main_path (missing is fine: the defaults stay) and then every *.conf in main_path.d in
 * lexical order, into *ret. Symlinks are followed (configuration management makes them); a
 * drop-in linked to /dev/null is masked. On error fills *ret_error with "FILE:LINE: ..." or "FILE: ..." and
 * leaves *ret as it was. */
int config_load(const char *main_path, struct config *ret, struct config_error *ret_error);
