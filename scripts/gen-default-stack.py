#!/usr/bin/env python3
# Writes src/deploy/default_stack.c from docs/examples/default-stack.yaml.
import sys
src=open('/work/wt-stack/docs/examples/default-stack.yaml').read()
out=['/*',' * The default stack of `meridian up` (no FILE): the blog\'s demo, kept',' * byte-identical to docs/examples/default-stack.yaml (test_deploy_stack',' * compares them). Regenerate with scripts/gen-default-stack.py.',' */','#include "deploy/stack.h"','','const char deploy_stack_default_yaml[] =']
for line in src.splitlines(True):
    e=line.replace('\\','\\\\').replace('"','\\"').replace('\n','\\n')
    out.append('\t"%s"' % e)
out[-1]+=';'
open('/work/wt-stack/src/deploy/default_stack.c','w').write('\n'.join(out)+'\n')
