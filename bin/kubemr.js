#!/usr/bin/env node
import '../dist/cmd/kubemr/main.js';
