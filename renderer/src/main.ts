import { mount } from 'svelte';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { pickApi } from './api/pick.ts';
import App from './App.svelte';
import { AppState } from './state/app.svelte.ts';

/** Electron's preload exposes `window.studio`; in a browser the page talks to its server over a WebSocket. */
const app = new AppState(pickApi());
mount(App, { target: document.getElementById('app')!, props: { app } });
void app.refresh();
