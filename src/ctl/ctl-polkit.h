/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A polkit text agent (pkttyagent) for the duration of a call that may need authorization, so
 * that polkit can ask for a password on the terminal. */

/* Starts the agent if stdin is a terminal, the caller is not root and the agent is installed;
 * returns once it is registered (or gave up). Does nothing if already started. */
int polkit_agent_open(void);

/* Stops the agent, if started, and waits for it. */
void polkit_agent_close(void);
