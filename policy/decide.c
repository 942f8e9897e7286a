#include "decide.h"

#include <errno.h>
#include <string.h>

#include "clamp.h"

void sp_decide_setsockopt(const struct sp_override *ov, int level, int opt, const void *val, size_t len,
			  struct sp_so_verdict *out)
{
	struct sp_value v;

	memset(out, 0, sizeof *out);
	out->why = ov->kind;
	switch (ov->kind) {
	case SP_OV_IGNORE:
		out->kind = SP_V_SKIP;
		out->act = SP_ACT_IGNORE;
		return;
	case SP_OV_DENY:
		out->kind = SP_V_REFUSE;
		out->act = SP_ACT_DENY;
		out->err = EPERM;
		return;
	case SP_OV_FORCE:
		out->kind = SP_V_REPLACE;
		out->act = SP_ACT_FORCE;
		out->klen = sp_value_encode(&ov->force->value, &out->k);
		return;
	case SP_OV_CLAMP:
		if (val && sp_clamp(level, opt, ov->min ? &ov->min->value : NULL, ov->max ? &ov->max->value : NULL,
				    val, len, &v)) {
			out->kind = SP_V_REPLACE;
			out->act = SP_ACT_CLAMP;
			out->klen = sp_value_encode(&v, &out->k);
			return;
		}
		break;
	case SP_OV_NONE:
		break;
	}
	out->kind = SP_V_PASS;
	out->why = SP_OV_NONE;
	out->act = SP_ACT_PASS;
}
