/* What the policy did to one setsockopt, in the words of the log's
 * `action` field (SPEC §4): the engine's verdicts name it, and every
 * backend's record carries it unchanged. */
#ifndef SOCKPOLICY_ACT_H
#define SOCKPOLICY_ACT_H

enum sp_act {
	SP_ACT_PASS,
	SP_ACT_INJECT,
	SP_ACT_FORCE,
	SP_ACT_IGNORE,
	SP_ACT_DENY,
	SP_ACT_CLAMP,
};

#endif
