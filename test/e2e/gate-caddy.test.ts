import { gateJourneys } from './gate-journeys.ts';

gateJourneys('caddy');
