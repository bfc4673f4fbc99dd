@echo off
REM evfleet: create .venv, install evfleet, start the main job (same as `make run`).
if not exist .venv\Scripts\python.exe py -3.11 -m venv .venv || python -m venv .venv
.venv\Scripts\python.exe -m pip install --quiet --upgrade pip
.venv\Scripts\python.exe -m pip install --quiet -e .
if errorlevel 1 exit /b 1
.venv\Scripts\evfleet.exe dashboard --port 8501
