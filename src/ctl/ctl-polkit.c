/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-polkit.h"

#define POLKIT_AGENT_PATH "/usr/bin/pkttyagent"

static pid_t agent_pid = 0;

/* In the child: the agent gets the notify fd (closed when it is registered) and the terminal. */
static void exec_agent(int notify_fd) {
        char notify_fd_text[16];

        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fcntl(notify_fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
        snprintf(notify_fd_text, sizeof(notify_fd_text), "%d", notify_fd);
        execl(POLKIT_AGENT_PATH, POLKIT_AGENT_PATH, "--notify-fd", notify_fd_text, "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

/* The agent closes its end once registered; if it fails, its exit closes it too. */
static void wait_for_agent(int notify_fd) {
        struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                ;
}

int polkit_agent_open(void) {
        int pipe_fds[2];

        if (agent_pid > 0)
                return 0;
        /* root is allowed without asking; without a terminal there is no one to ask. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(POLKIT_AGENT_PATH, X_OK) < 0)
                return 0;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;

        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return r;
        }
        if (pid == 0) {
                close(pipe_fds[0]);
                exec_agent(pipe_fds[1]);
        }

        agent_pid = pid;
        close(pipe_fds[1]);
        wait_for_agent(pipe_fds[0]);
        close(pipe_fds[0]);
        return 0;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
