/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Prints ntpsyncctl's usage to standard output. */
void ctl_help(void);
