import { gateJourneys } from './gate-journeys.ts';

gateJourneys('nginx');
